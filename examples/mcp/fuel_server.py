"""A small stdio MCP server (official `mcp` SDK) for trying `--mcp`:

umi-edge run --mcp "python examples/mcp/fuel_server.py" "How much fuel for 340 km at 6.5 l/100 km?"
"""

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

app = MCPServer("fuel")


@app.tool(annotations=ToolAnnotations(readOnlyHint=True))
def fuel_needed(distance_km: float, litres_per_100km: float) -> float:
    """Litres of fuel a trip needs.

    Args:
        distance_km: Length of the trip in kilometres.
        litres_per_100km: The car's consumption in litres per 100 km.
    """
    return round(distance_km * litres_per_100km / 100, 2)


if __name__ == "__main__":
    app.run()
