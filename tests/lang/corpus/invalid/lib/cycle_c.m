import "../check_import_cycle.m"
