import logging
import shutil
import sys
import textwrap

import pytest

from cadre.runtime.backends import base
from cadre.runtime.backends.base import Backend, get_backend, register_backend
from cadre.runtime.backends.local import LocalBackend
from cadre.runtime.errors import BackendError
from cadre.runtime.registry import ModelCapability, ModelSpec


@pytest.fixture(autouse=True)
def one_thread():
    import torch

    torch.set_num_threads(1)


@pytest.fixture
def fresh_backends(monkeypatch):
    """An isolated backend table, so plugins registered in a test do not leak."""
    base._discover()
    monkeypatch.setattr(base, "BACKENDS", dict(base.BACKENDS))
    monkeypatch.setattr(base, "_discovered", False)


def spec(path, **kw):
    return ModelSpec(kw.pop("name", "m"), path=str(path), capabilities=(ModelCapability.CODE_GENERATION,), **kw)


def test_builtins_are_registered_and_duplicates_rejected(fresh_backends):
    assert {"local", "openai", "onnx"} <= set(base.backend_names())

    class Again(Backend):
        def load(self): ...
        def stream(self, *a, **k): ...

    with pytest.raises(ValueError, match="already registered"):
        register_backend("local", Again)
    with pytest.raises(Exception, match="unknown backend 'nope'"):
        get_backend("nope")


def test_outside_packages_add_backends_through_entry_points(tmp_path, monkeypatch, fresh_backends, caplog):
    (tmp_path / "echo_plugin.py").write_text(textwrap.dedent("""
        from cadre.runtime.backends.base import Backend, TextStream, last_user_text

        class EchoBackend(Backend):
            def load(self):
                self.loaded = True
            def stream(self, messages, max_tokens=256, temperature=0.0, top_p=1.0, stop=None, cancel=None):
                return TextStream(lambda out: iter([last_user_text(messages)[::-1]]))
    """))
    dist = tmp_path / "echo_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[cadre.backends]\necho = echo_plugin:EchoBackend\n"
                                           "local = echo_plugin:EchoBackend\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="cadre.runtime"):
        cls = get_backend("echo")
    backend = cls(ModelSpec("e", backend="echo", capabilities=(ModelCapability.PRIMARY_CHAT,)))
    backend.load()
    assert backend.invoke("abc") == "cba"
    assert get_backend("local") is LocalBackend  # the duplicate plugin name was ignored, with a warning
    assert "already registered" in caplog.text
    sys.modules.pop("echo_plugin", None)


def test_local_backend_loads_a_cadre_checkpoint_and_streams(tiny_causal_dir):
    backend = LocalBackend(spec(tiny_causal_dir))
    assert backend.estimate_bytes() > 0
    backend.load()
    stream = backend.stream([{"role": "user", "content": "write a function to add two numbers"}], max_tokens=6)
    pieces = list(stream)
    assert stream.usage.completion_tokens == 6 and stream.usage.prompt_tokens > 3
    assert "".join(pieces).strip() and stream.finish_reason == "length"
    assert backend.tensor_bytes() > 1_000_000
    backend.unload()
    assert backend.model is None


def test_int8_quantization_shrinks_the_linear_weights(tiny_causal_dir):
    full, small = LocalBackend(spec(tiny_causal_dir)), LocalBackend(spec(tiny_causal_dir, quantization="int8"))
    full.load()
    small.load()
    quantized = [type(m).__name__ for m in small.model.modules() if "quantized" in type(m).__module__]
    assert quantized and small.tensor_bytes() < full.tensor_bytes()  # int8 Linear weights are packed
    assert small.invoke("write a function to sort a list", max_tokens=4)


def test_missing_path_and_corrupt_safetensors_are_clear_errors(tmp_path, tiny_causal_dir):
    with pytest.raises(BackendError, match="model 'm'.*(not found|files are missing)"):
        LocalBackend(spec(tmp_path / "nowhere" / "model")).load()
    broken = tmp_path / "broken"
    shutil.copytree(tiny_causal_dir, broken)
    data = (broken / "model.safetensors").read_bytes()
    (broken / "model.safetensors").write_bytes(data[: len(data) // 3])
    with pytest.raises(BackendError, match="corrupt or truncated safetensors"):
        LocalBackend(spec(broken)).load()


def test_a_gguf_file_without_the_gguf_package_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CADRE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(sys.modules, "gguf", None)  # as if the package were not installed
    gguf_file = tmp_path / "model.gguf"
    gguf_file.write_bytes(b"GGUF\x03\x00\x00\x00")
    with pytest.raises(BackendError, match="needs the `gguf` package"):
        LocalBackend(spec(gguf_file)).load()


def test_a_lora_adapter_folder_loads_as_base_plus_adapter(tmp_path, tiny_causal_dir):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast

    from cadre.checkpoint import write_metadata

    hf_base = tmp_path / "base"
    model = AutoModelForCausalLM.from_pretrained(tiny_causal_dir)
    model.save_pretrained(hf_base)
    PreTrainedTokenizerFast(tokenizer_file=str(tiny_causal_dir / "tokenizer.json"), eos_token="<|eos|>",
                            pad_token="<|pad|>").save_pretrained(hf_base)
    peft_model = get_peft_model(model, LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    adapter = tmp_path / "adapter"
    peft_model.save_pretrained(adapter)
    write_metadata(adapter, {"type": "lora", "base": "not-a-known-name", "base_path": str(hf_base), "task": "code",
                             "system_prompt": "You write code."})
    backend = LocalBackend(spec(adapter))
    backend.load()
    assert backend.kind == "lora" and backend.adapter_system == "You write code."
    assert isinstance(backend.invoke("hello", max_tokens=3), str)
    merged = tmp_path / "merged"
    peft_model.merge_and_unload().save_pretrained(merged)
    PreTrainedTokenizerFast(tokenizer_file=str(tiny_causal_dir / "tokenizer.json"), eos_token="<|eos|>").save_pretrained(merged)
    write_metadata(merged, {"type": "lora-merged", "base": str(hf_base)})
    plain = LocalBackend(spec(merged))
    plain.load()
    assert plain.kind == "hf" and isinstance(plain.invoke("hello", max_tokens=2), str)


def test_backend_identity_is_class_attributes_and_the_project_files_table_agrees():
    """What a backend is (where its model lives, whether it runs here) comes from its class,
    so no module compares backend names; cadre.config's table for the project file, which
    may not import backends (cadre.model_row), says the same of every built-in."""
    import re
    from pathlib import Path

    from cadre.model_row import BACKEND_LOCATION
    from cadre.runtime.backends.base import get_backend
    from cadre.runtime.backends.identity import is_remote, loads_here, quantizable, serves_files

    for name, needs in BACKEND_LOCATION.items():
        cls = get_backend(name)
        assert (cls.needs_path, cls.needs_url) == (needs == "path", needs == "url"), name
    remote = ModelSpec("r", backend="openai", url="http://127.0.0.1:9/v1")
    local = ModelSpec("l", path="/x", capabilities=(ModelCapability.CODE_GENERATION,))
    router = ModelSpec("o", backend="onnx", path="/x")
    assert is_remote(remote) and not is_remote(local) and not is_remote(router)
    assert serves_files(local) and serves_files(router) and not serves_files(remote)
    assert quantizable(local) and not quantizable(router) and not quantizable(remote)
    assert loads_here(router) and not loads_here(ModelSpec("p", backend="no-such-plugin"))
    package = Path(__file__).resolve().parents[2] / "cadre"
    compares = re.compile(r"""backend\s*(==|!=|not in|in)\s*[("']+(local|onnx|openai)""")
    found = [f"{p.relative_to(package)}:{n}" for p in package.rglob("*.py")
             for n, line in enumerate(p.read_text().splitlines(), 1) if compares.search(line)]
    assert not found, f"backend identity by name: {found}"
