"""The forwarding backend's recovery rules, without a cluster: which errors mean a model
replica died, and how a greedy answer resumes on another replica without repeating or
changing what the client already has."""
from __future__ import annotations

import pytest

from cadre.runtime.backends.base import TextStream
from cadre.runtime.errors import BackendError
from cadre.server.scale.remote import _local_error, _replica_died, _resumed

END = {"usage": {"prompt_tokens": 3, "completion_tokens": 4}, "finish_reason": "stop"}


def test_a_greedy_answer_resumes_after_what_was_sent():
    out = TextStream(lambda o: iter(()))
    again = ["He", "llo", " wor", "ld", END]  # the new replica's answer, from its start
    assert "".join(_resumed(iter(again), "Hello w", out)) == "orld"
    assert out.finish_reason == "stop" and out.usage.completion_tokens == 4
    assert list(_resumed(iter(["a", "b", END]), "", out)) == ["a", "b"]  # a first attempt passes through


def test_a_changed_answer_is_an_error_not_a_spliced_text():
    out = TextStream(lambda o: iter(()))
    with pytest.raises(BackendError, match="changed"):
        list(_resumed(iter(["Help", " me"]), "Hello", out))


def test_only_a_dead_replica_is_retried():
    from ray import exceptions

    assert _replica_died(exceptions.ActorDiedError())
    assert _replica_died(exceptions.WorkerCrashedError())
    model_error = exceptions.RayTaskError("stream", "tb", BackendError("model 'code': cannot load"))
    assert not _replica_died(model_error)  # the model's own failure: the same on any replica
    assert isinstance(_local_error(model_error), BackendError)  # raised as the replica raised it
    assert not _replica_died(ValueError("x"))
