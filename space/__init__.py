"""The Med-CMR leaderboard Space: a Gradio 6 front end over `leaderboard.service.Leaderboard`.

`python -m space` serves it (a Space runs `space/app.py`, the same); `space.ui.build_app(board)` builds
the Blocks. All logic lives in `leaderboard/`; this package only wires components to it.
"""
