// metamodel / model / extends: a template with an abstract field, bound and specialised step by step.
import python torch
metamodel Classifier {
    input: Tensor[float32, B, num_features]
    output: Tensor[float32, B, num_labels]
    num_features: int  // abstract: a model that extends Classifier binds it
    num_labels: int = 2
    hidden: int = 32
    Dense(hidden, activation="relu")
    Dropout(0.1)
    Dense(num_labels)
}

model IrisClassifier extends Classifier {  // binds the abstract field, overrides another
    num_features = 4
    num_labels = 3
}

model CalibratedIris extends IrisClassifier {  // multi-level: appends a layer
    Softmax()
}

probabilities = CalibratedIris(hidden=16)
print(probabilities.output_type)
print(probabilities(torch.randn(5, 4)).sum(-1))
