from musig.cli import main

raise SystemExit(main())
