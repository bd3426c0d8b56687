// args: --epochs 3
print(args, len(args))
epochs = int(args[1]) if len(args) > 1 else 1
print("epochs", epochs)
