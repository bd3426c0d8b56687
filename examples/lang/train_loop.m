// train_loop.m: a small PyTorch MLP trained with SGD, written in M (Python interop).
// Run: m run examples/lang/train_loop.m -- 300     (bench/loop.py times it against Python)
import python torch

func make_data(seed: int) {
    torch.manual_seed(seed)
    x = torch.randn(256, 32)
    y = (x[:, :4].sum(dim=1, keepdim=true) > 0).float()
    return x, y
}

func train(steps: int, seed: int = 0) -> float {
    x, y = make_data(seed)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_function = torch.nn.BCEWithLogitsLoss()
    total = 0.0
    for step in range(steps) {
        optimizer.zero_grad()
        loss = loss_function(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item()
    }
    return total / steps
}

// Interpreter-bound work: the same bytecode as Python, so the same speed.
func numeric(n: int) -> float {
    acc = 0.0
    for i in range(n) {
        if i % 3 == 0 {
            acc += i * 0.5
        } else {
            acc -= i / 7
        }
    }
    return acc
}

steps = int(args[0]) if len(args) > 0 else 0  // no argument: only declare (bench/loop.py)
if steps > 0 {
    print(f"mean loss over {steps} steps: {train(steps):.4f}")
}
