"""The command line: click verbs, doctor, bench and GitHub Actions output; errors become exit codes here."""
