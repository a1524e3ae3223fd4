from civicstack.cli import main

main()
