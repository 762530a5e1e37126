from kcl.cli import main

raise SystemExit(main())
