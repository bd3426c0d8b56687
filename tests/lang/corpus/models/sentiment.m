// The model syntax of DESIGN §1: metamodels, models, extends, fields, layers, forward, types.
metamodel Classifier {
    input: Text
    output: Tensor[float32, B, num_labels]
    encoder: Model[Text -> Tensor[float32, B, 384]]  // abstract: bound by a model that extends this
    num_labels: int = 2
    dropout: float = 0.1
}

model SmallCNN {
    input: Image[3, 64, 64]
    Conv2D(32, kernel=3, padding="same")
    ReLU()
    MaxPool2D(2)
    Flatten()
    Dense(10)
}

model Scaled extends SmallCNN {
    factor: float = 2.0
    forward(x) {
        y = x * factor
        return y
    }
}

model Bigger extends Scaled {
    factor = 3.0  // binds (overrides) an inherited field
    Dense(2)  // appends a layer
}

func pick(model: SmallCNN, n: int = 3) -> List[Model] {
    models = [model for i in range(n)]
    return models
}
metamodel = "a soft keyword is still a name"
model = SmallCNN
forward = 1
print(metamodel, forward)
