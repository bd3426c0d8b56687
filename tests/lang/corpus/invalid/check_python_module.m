// expect: 2:1: no Python module named 'no_such_module_xyz'
import python no_such_module_xyz
