"""cadre: train, evaluate and serve a team of specialist models behind one router."""
import logging

__version__ = "0.1.0"

# bitsandbytes (which peft imports) warns on AVX512-BF16 CPUs that it could not fetch an
# optional kernel from the Hugging Face Hub, and asks for `pip install kernels`. cadre never
# loads code or weights from a hub at run time, and bitsandbytes' built-in CPU path serves.
logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
