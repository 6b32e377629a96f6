import sys

from deqverify.app.cli import main

sys.exit(main())
