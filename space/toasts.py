"""Toasts that do not pile up: each leaves on its own, and a new attempt replaces the last one's.

Gradio 6.31 shows the toasts still on screen in one group per kind ("Error (3)") and times a group
from its first message. A refusal is also written beside the button that caused it, so its toast
needs to stay only long enough to be seen; and a fresh press makes the earlier messages stale.
"""
from __future__ import annotations

import html
import json

import gradio as gr

TOAST_SECONDS = 8.0


def error(message: object, title: str) -> gr.Error:
    """An error toast of `message` (escaped: gr.Error renders HTML, and messages may quote submitter text)."""
    return gr.Error(html.escape(str(message), quote=False), title=title, duration=TOAST_SECONDS)


def info(message: str) -> None:
    """A success toast that leaves on its own (its message is text, escaped like an error's)."""
    gr.Info(html.escape(message, quote=False), duration=TOAST_SECONDS)


def warn(message: str) -> None:
    """A warning toast that leaves on its own."""
    gr.Warning(message, duration=TOAST_SECONDS)


def close_js(kind: str) -> str:
    """Page JavaScript closing the toasts of one kind ("error", "warning") still on screen, run as a new
    attempt starts (registered before the attempt's own listener: Gradio runs them in order), so its
    outcome stands alone instead of joining a pile of earlier ones.

    It resolves once the old toasts have left the page (at most a second): a toast of the same kind
    shown during their 200 ms fade would take over the old group, with the old group's timer.
    """
    selector = json.dumps(f".toast-body.{kind}")
    return ("() => new Promise((done) => {"
            f" const open = () => document.querySelectorAll({selector});"
            " open().forEach((toast) => toast.querySelector('[data-testid=toast-close]')?.click());"
            " const until = Date.now() + 1000;"
            " const wait = () => (!open().length || Date.now() > until) ? done() : setTimeout(wait, 20);"
            " wait(); })")
