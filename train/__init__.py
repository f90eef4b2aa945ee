"""GLPFT training (torch, transformers, peft, accelerate), as ``umi_edge.train``; the runtime never imports it.

Modules: :mod:`.config` (settings, TOML/YAML), :mod:`.data` (records → token ids, left truncation),
:mod:`.batching` (prefix-sharing packs, token-budget batches, collator), :mod:`.model` (BASE resolution and loading),
:mod:`.trainer` (transformers.Trainer with a label-positions-only loss), :mod:`.glpft` (stages, run dir, resume),
:mod:`.report` (train_report.json / .md / loss_curve.png). Entry point: :func:`umi_edge.train.glpft.start`.

Contract with the converter and the runtime (what a trained adapter expects):

- The model is fed ``umi_edge.formats.prompts.model_prompt(input)`` = ``"system: " + input``, tokenized on its own
  with the base tokenizer's defaults: a BOS first when the tokenizer adds one (LLaMA-style sentencepiece: yes;
  SmolLM2: no), and special-token text parsed as special tokens (LLaMA's literal ``</s>`` in the history becomes the
  EOS id). In llama.cpp terms: ``tokenize(prompt, add_bos=<the model's add_bos>, special=True)``.
- The model then produces ``tokenizer(target, add_special_tokens=False)`` followed by EOS: generation stops at EOS.
  With a sentencepiece base the first target token carries the word-start marker, so the decoded text may begin with
  one space: strip leading whitespace from generated text.
- LoRA: every role adapter (``RUN/planner`` etc.) continues the global adapter and applies to the UNCHANGED base:
  for a GGUF base (``smollm2-135m`` included) that very GGUF file (the training base was its dequantized tensors);
  for a HF directory, that directory converted once. ``adapter_config.json``'s ``base_model_name_or_path`` and
  ``RUN/config.toml`` ``[resolved]`` name it; ``RUN/<stage>/umi_stage.json`` says where each stage started.
"""
