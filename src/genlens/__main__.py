from genlens.cli import main

main()
