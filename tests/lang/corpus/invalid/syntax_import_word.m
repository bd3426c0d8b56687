// expect: 2:8: expected a quoted file path or 'python' after import, found the name 'numpy'
import numpy
