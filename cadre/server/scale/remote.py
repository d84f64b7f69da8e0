"""The seam between the ingress and the model deployment: `RemoteModel`, a backend that
forwards generation to the model deployment's handle with the model id, so Ray Serve
sends it to a replica that already has the model loaded.

The ingress's registry lists each hosted model under this backend, path kept (score gates
look runs up by it) and device "remote" (`elsewhere`: it holds no memory there), so the engine, its routing, gates, tools and failover work
unchanged. A model replica that dies under a request is retried on another replica
(`RETRY_LIMIT` times with a doubling pause, before the first piece of a stream); `RemoteModel.retries` counts
the retries and /metrics shows them as cadre_engine_count{kind="remote_retries"}.
"""
from __future__ import annotations

import logging
import threading

from cadre.runtime.backends.base import Backend, TextStream, register_backend
from cadre.runtime.errors import BackendError

log = logging.getLogger("cadre.server")
BACKEND_NAME = "ray-serve-model"
QA_CHECKPOINT = "remote cadre Q/A checkpoint"
RETRY_LIMIT = 4
RETRY_BACKOFF_S = 0.25   # doubled each retry: Serve needs a moment to drop a dead replica


class RemoteModel(Backend):
    """A model of the model deployment, seen from an ingress replica."""

    handle = None          # the model deployment's DeploymentHandle (one ingress per process)
    elsewhere = True       # the manager charges it no memory here
    retries = 0
    encoder = None
    _count_lock = threading.Lock()

    def load(self) -> None:
        """Ask the deployment to load the model (on the replica Serve picks) and learn which
        client fields it honours."""
        info = self._call("describe")
        self.passthrough = frozenset(info.get("passthrough", ()))
        # the engine asks a local backend for its `encoder` to tell cadre Q/A checkpoints apart
        self.encoder = QA_CHECKPOINT if info.get("qa") else None
        self.loaded = True

    def chat(self, messages, max_tokens=256, temperature=0.0, top_p=1.0, stop=None):
        """(text, usage, finish_reason) from the model's replica."""
        from cadre.runtime.types import Usage

        out = self._call("chat", messages, max_tokens, temperature, top_p, stop)
        return out["text"], Usage(**out["usage"]), out["finish_reason"]

    def stream(self, messages, max_tokens=256, temperature=0.0, top_p=1.0, stop=None, cancel=None,
               **fields) -> TextStream:
        """Pieces as the model's replica writes them; the last item carries usage and the
        finish reason. A replica that dies mid-answer is replaced by another: before the
        first piece always; after it only for greedy decoding (temperature 0), whose new
        answer repeats what was sent, which is checked and skipped."""
        def pieces(out: TextStream):
            sent = ""
            for attempt in range(RETRY_LIMIT + 1):
                gen = self._handle(stream=True).stream.remote(messages, max_tokens, temperature, top_p,
                                                              stop, fields)
                try:
                    for piece in _resumed(gen, sent, out):
                        sent += piece
                        yield piece
                        if cancel is not None and cancel.is_set():
                            gen.cancel()
                            out.finish_reason = "cancelled"
                            return
                    return
                except Exception as exc:
                    resumable = not sent or temperature == 0
                    if not resumable or attempt == RETRY_LIMIT or not _replica_died(exc):
                        raise _local_error(exc) from None
                    self._count_retry(attempt)
        return TextStream(pieces)

    # ------------------------------------------------------------------ calls
    def _handle(self, stream: bool = False):
        if RemoteModel.handle is None:
            raise BackendError(f"model {self.spec.name!r}: no model deployment handle in this process")
        return RemoteModel.handle.options(multiplexed_model_id=self.spec.name, stream=stream)

    def _call(self, method: str, *args):
        """One unary call, retried on another replica when the one it reached died."""
        for attempt in range(RETRY_LIMIT + 1):
            try:
                return getattr(self._handle(), method).remote(*args).result()
            except Exception as exc:
                if attempt == RETRY_LIMIT or not _replica_died(exc):
                    raise _local_error(exc) from None
                self._count_retry(attempt)

    @classmethod
    def _count_retry(cls, attempt: int) -> None:
        import time

        with cls._count_lock:
            cls.retries += 1
        time.sleep(RETRY_BACKOFF_S * 2 ** attempt)


def _resumed(gen, sent: str, out: TextStream):
    """The new text of an answer stream whose first `sent` characters a previous attempt
    already gave (checked, then skipped); usage and finish reason go to `out`."""
    from cadre.runtime.types import Usage

    produced, past = "", not sent
    for item in gen:
        if isinstance(item, dict):
            out.usage, out.finish_reason = Usage(**item["usage"]), item["finish_reason"]
        elif past:
            yield item
        else:
            produced += item
            if not (sent.startswith(produced) or produced.startswith(sent)):
                raise BackendError("the model's answer changed after its replica was replaced")
            if len(produced) > len(sent):
                past = True
                yield produced[len(sent):]


def _replica_died(exc: BaseException) -> bool:
    """Whether a call failed because the replica went away (not because the model did):
    Ray's actor errors, also when they arrive wrapped as a task error's cause."""
    from ray import exceptions

    died = (exceptions.RayActorError, exceptions.WorkerCrashedError)
    for _ in range(3):  # the error, its cause, the cause's cause
        if isinstance(exc, died):
            return True
        exc = getattr(exc, "cause", None) if isinstance(exc, exceptions.RayTaskError) else None
        if exc is None:
            return False
    return False


def _local_error(exc: Exception) -> Exception:
    """The model replica's own error as raised there (BackendError, Overloaded, ...), so the
    server answers it the same way; anything else becomes a BackendError."""
    from ray import exceptions

    if isinstance(exc, exceptions.RayTaskError):
        cause = getattr(exc, "cause", None)
        if isinstance(cause, Exception):
            return cause
    if isinstance(exc, BackendError):
        return exc
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    log.warning("model deployment call failed (%s, %s): %s", type(exc).__name__,
                [c.__name__ for c in type(exc).__mro__[1:4]], first[:200])
    return BackendError(f"model deployment: {first[:200]}")


def register() -> None:
    """Register the backend (once per process)."""
    from cadre.runtime.backends import base

    if BACKEND_NAME not in base.BACKENDS:
        register_backend(BACKEND_NAME, RemoteModel)
