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
print("models:", [m.id for m in client.models.list().data])
messages: list = [{"role": "user", "content": "What is the weather in Paris?"}]
print("user:", messages[0]["content"])
r = client.chat.completions.create(model="umi-edge", tools=[weather], messages=messages)
msg = r.choices[0].message
print(f"assistant ({r.choices[0].finish_reason}): {msg.content}")
for call in msg.tool_calls or []:
    print(f"  tool_call {call.function.name}({call.function.arguments})")
if msg.tool_calls:
    messages.append(msg.model_dump(exclude_none=True))
    observation = json.dumps({"city": "Paris", "temperature_c": 14, "sky": "light rain"})
    messages.append({"role": "tool", "tool_call_id": msg.tool_calls[0].id, "content": observation})
    print("tool:", observation)
    r = client.chat.completions.create(model="umi-edge", tools=[weather], messages=messages)
    print(f"assistant ({r.choices[0].finish_reason}): {r.choices[0].message.content}")
agent = client.chat.completions.create(
    model="umi-edge-agent", messages=[{"role": "user", "content": "What is 15% of 360?"}]
)
extra = (agent.model_extra or {}).get("umi_edge", {})
print(f"agent ({extra.get('status')}): {agent.choices[0].message.content}")
for turn in extra.get("conversation", []):
    print(f"  {turn['from']}: {turn['value'][:160]}")
