from mlang.cli import main

main()
