"""Offline stand-ins for the two endpoints the kit talks to: a fake judge and a fake vision model.

Both are real OpenAI-compatible HTTP servers on 127.0.0.1 (`fakes.server`), so `predict`, the judge,
the Space, VLMEvalKit and lmms-eval can be tried end to end with no model, no key and no network:
`medcmr fake-judge` grades by word overlap (`fakes.judge`), `medcmr fake-model --data medcmr` answers
any prompt that names a question of the build (`fakes.model`). Their scores mean nothing.
"""
