import "cycle_c.m"
