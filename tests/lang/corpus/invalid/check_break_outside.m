// expect: 2:1: 'break' outside a loop
break
