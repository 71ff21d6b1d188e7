"""The Space's entry point (`app_file: space/app.py`): a Space runs `python space/app.py`, which serves
exactly as `python -m space` does. Nothing imports this file; the page is built in `space/ui.py`."""
import sys
from pathlib import Path

if __name__ == "__main__":
    if not __package__:  # run as a script: the repository's root is where the kit's packages are
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from space.__main__ import main

    main()
