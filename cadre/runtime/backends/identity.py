"""What kind of backend serves a model, read from its class attributes (`needs_path`,
`needs_url`, `quantizable`, `elsewhere`, `http_upstream`, `passthrough`), never from its
name, so a plugin backend is treated by what it declares, like the built-ins."""
from __future__ import annotations

from cadre.errors import CadreError
from cadre.runtime.backends.base import Backend, get_backend


def backend_class(name: str) -> type[Backend]:
    """The registered class of a backend name; the base class (nothing declared) for a name
    nobody registered: that is reported when the model is used, not here."""
    try:
        return get_backend(name)
    except CadreError:
        return Backend


def serving_class(spec) -> type[Backend]:
    """The class that loads a model: its backend's, except that a saved router folder is
    served as a router (`routers_served_by`), whichever backend the project names."""
    from cadre.routing.store import is_router_folder

    cls = get_backend(spec.backend)
    if cls.routers_served_by and is_router_folder(spec.path):
        return get_backend(cls.routers_served_by)
    return cls


def is_remote(spec) -> bool:
    """The model runs outside this process (an HTTP upstream, a Ray replica): no local
    device, no memory charged here."""
    cls = backend_class(spec.backend)
    return cls.elsewhere or (not cls.needs_path and not spec.path)


def serves_files(spec) -> bool:
    """The model is loaded from its `path`, here or in another process (`elsewhere`)."""
    cls = backend_class(spec.backend)
    return cls.needs_path or cls.elsewhere


def loads_here(spec) -> bool:
    """The model is loaded from its `path` in this process."""
    return backend_class(spec.backend).needs_path


def quantizable(spec) -> bool:
    """runtime.quantize_int8 applies to the model's weights."""
    return backend_class(spec.backend).quantizable
