from evy.cli import main

raise SystemExit(main())
