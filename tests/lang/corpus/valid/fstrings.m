name = "M"
loss = 0.123456
items = [1, 2]
print(f"hello {name}!", f'{loss:.3f}', f"{name!r}", f"{{literal}}", f"{items[0] + items[1]}")
print(f"{'nested'} {len(items)} {loss * 100:6.2f}%", f"""multi
{name}""")
