"""The fake OpenAI-compatible server now lives in the kit (`fakes.server`, served by `medcmr fake-judge` and
`medcmr fake-model`); tests import it from here as they always did."""
from fakes.server import OpenAIServer, Reply, Responder

__all__ = ["OpenAIServer", "Reply", "Responder"]
