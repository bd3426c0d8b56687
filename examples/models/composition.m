// Combining models: in sequence, in parallel, and with a forward block over submodels.
import python torch
model TextFeatures {
    input: Tensor[float32, B, 16]
    Dense(8, activation="relu")
}
model NumberFeatures {
    input: Tensor[float32, B, 16]
    Dense(4, activation="tanh")
}
model Head {
    input: Tensor[float32, B, 12]
    Dense(2)
}

both = parallelModel(TextFeatures(), NumberFeatures(), merge="concat")  // [B, 8] ++ [B, 4] → [B, 12]
classifier = sequentialModel(both, Head())  // checked: 12 feeds 12
print(classifier.output_type)

model Gated {
    input: Tensor[float32, B, 16]
    value: Model = TextFeatures()
    gate: Model = TextFeatures()
    forward(x) {
        return value(x) * torch.sigmoid(gate(x))
    }
}
g = Gated()
print(g(torch.randn(3, 16)).shape)
