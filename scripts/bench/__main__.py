import sys

from . import instructions
from .cli import main

arguments = sys.argv[1:]
sys.exit(instructions.main(arguments) if "--instructions" in arguments else main())
