// Every kind of model M can save, each saved under its kind's name (tests/journeys).
setSeed(3)
iris = Dataset.sklearn("iris")
train_set, test_set = split(iris, 0.8, seed=3, stratify=true)

model Net {
    input: Tensor[float32, B, 4]
    Dense(16)
    ReLU()
    Dense(3)
}

model Head {
    input: Tensor[float32, B, 3]
    Dense(3)
}

model Doubled {
    input: Tensor[float32, B, 4]
    encoder: Model = Net()
    forward(x) {
        return self.layers(encoder(x) * 2)
    }
    Dense(3)
}

func blend(x, a, b) {
    return a(x) + b(x) * 0.5
}

model Reviews extends TextClassifier {
    num_labels = 2
    max_length = 32
}

save(Net(), "stack")
save(sequentialModel(Net(), Head()), "composed")
save(Doubled(), "forward")
save(customModel(blend, Net(), Net()), "custom")
save(loadModelFromUrl("minilm-l6", max_length=32), "encoder")

tuned = fineTuneModel(Net(), train_set, epochs=3, lr=1e-2, batch_size=16)
save(tuned, "finetuned", metrics=evaluate(tuned, test_set, metrics=["accuracy"]))

pruned = optimize(tuned) {
    prune(strategy="l1", percentage=0.25, scope="global", target="neurons")
}
save(pruned, "pruned")
quantized = optimize(tuned) {
    quantize(bits=8, scope="global", method="linear")
}
save(quantized, "quantized", alias="prod")
save(distill(tuned, student=Net(), data=train_set, epochs=1), "distilled")

reviews = Dataset.records(
    [
        {"text": "great food, loved it", "label": "great"},
        {"text": "stale and awful", "label": "other"},
        {"text": "my dog adores these", "label": "great"},
        {"text": "never again, broken box", "label": "other"},
    ],
    text="text",
    label="label",
)
save(fineTuneModel(Reviews(), reviews, epochs=1, lr=1e-4, batch_size=4), "classifier")

// A forward block with Python control flow: it runs eagerly; graph backends say why they cannot.
model Branching {
    input: Tensor[float32, B, 4]
    forward(x) {
        if x.sum() > 0 {
            return self.layers(x)
        }
        return self.layers(x * -1)
    }
    Dense(3)
}
save(Branching(), "branching")
