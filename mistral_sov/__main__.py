"""`python -m mistral_sov` runs the command-line interface."""

from mistral_sov.cli.app import main

if __name__ == "__main__":  # pragma: no cover
    main()
