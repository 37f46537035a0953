from kamflow.app.cli import main

main()
