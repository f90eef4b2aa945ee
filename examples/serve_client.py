"""Talk to a running `umi-edge serve` with the `openai` client and print the exchange (the README's transcript).

umi-edge serve --port 8080 &
python examples/serve_client.py http://127.0.0.1:8080/v1
"""

import json
import sys

from openai import OpenAI

client = OpenAI(base_url=sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080/v1", api_key="none")
weather = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def get_weather(city: str) -> str:
    """The client's own tool (a fixed reading, for the example)."""
    return json.dumps({"city": city, "temperature_c": 14, "sky": "light rain"})


print("models:", [m.id for m in client.models.list().data])
messages: list = [{"role": "user", "content": "What is the weather in Paris?"}]
print("user:", messages[0]["content"])
for _ in range(4):  # the client runs each tool call and sends the result back, until the answer comes
    r = client.chat.completions.create(model="umi-edge", tools=[weather], messages=messages)
    msg, finish = r.choices[0].message, r.choices[0].finish_reason
    print(f"assistant ({finish}): {msg.content}")
    if finish != "tool_calls" or not msg.tool_calls:
        break
    messages.append(msg.model_dump(exclude_none=True))
    for call in msg.tool_calls:
        print(f"  tool_call {call.function.name}({call.function.arguments})")
        observation = get_weather(**json.loads(call.function.arguments))
        messages.append({"role": "tool", "tool_call_id": call.id, "content": observation})
        print("  tool:", observation)
agent = client.chat.completions.create(
    model="umi-edge-agent", messages=[{"role": "user", "content": "What is 15% of 360?"}]
)
extra = (agent.model_extra or {}).get("umi_edge", {})
print(f"agent ({extra.get('status')}): {agent.choices[0].message.content}")
for turn in extra.get("conversation", []):
    print(f"  {turn['from']}: {turn['value'][:160]}")
