"""Convert a GGUF model into a Hugging Face folder (bf16 safetensors) that vLLM can load.

    python gguf_to_hf.py MODEL.gguf OUT_DIR

Runs in the vLLM environment (it needs torch, transformers, gguf and accelerate), never in the project's own.
The weights are dequantised from the GGUF's quantisation: the quality is the GGUF's, not the original bf16's.
"""

import shutil
import sys
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def convert(gguf: Path, out: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16)
    # transformers marks a model read from GGUF as quantised and will not save it; its tensors are plain bf16 now.
    model.hf_quantizer = None
    model.config.__dict__.pop("quantization_config", None)
    partial = out.with_name(out.name + ".partial")  # a conversion cut short never looks finished
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    partial.rename(out)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    convert(Path(sys.argv[1]).resolve(), Path(sys.argv[2]))
