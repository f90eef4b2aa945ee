"""How well a bundle's planner separates give-up from call steps before it writes a word (issue 17, round 6).

For every planner sample of a data directory's validation split (default: BFCL live's held-out 10%, imported with
`data import-bfcl --irrelevant 0.5`; never trained on), the planner's next-token logits after the prompt give
`logit("None") - max(logit("I"), logit("This"))`: a give-up thought opens with "None of the offered tools", a
call thought with "I will call" or "This needs". Prints the quartiles per label and the AUC of that score.

    python benchmarks/planner_refusal_gap.py bundles/round6 [data/bfcl-live6/validation/planner.jsonl]
"""

import json
import sys

from umi_edge.engine import Engine
from umi_edge.formats.prompts import model_prompt

bundle = sys.argv[1]
samples = sys.argv[2] if len(sys.argv) > 2 else "data/bfcl-live6/validation/planner.jsonl"
role = Engine.from_bundle(bundle).role("planner")
give, call_i, call_this = (role.tokenize(t)[0] for t in ("None", "I", "This"))
rows = []
with open(samples, encoding="utf-8") as fh:
    for line in fh:
        r = json.loads(line)
        lg = role.logits(model_prompt(r["input"]))
        rows.append((r["target"].rsplit("Next:", 1)[-1].strip(), lg[give] - max(lg[call_i], lg[call_this])))
g = [x for label, x in rows if label == "give up."]
c = [x for label, x in rows if label == "caller."]
print("AUC", round(sum((a > b) + 0.5 * (a == b) for a in g for b in c) / (len(g) * len(c)), 3))
for label, v in (("give up", sorted(g)), ("call", sorted(c))):
    print(label, len(v), [round(v[int(q * (len(v) - 1))], 2) for q in (0.1, 0.25, 0.5, 0.75, 0.9)])
