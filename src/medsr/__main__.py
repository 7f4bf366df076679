from medsr.cli import main

main()
