// M's standard text metamodels: a pretrained encoder from the model zoo (MiniLM by default), its
// tokenizer included, and a fresh head.  Extend one and bind what differs:
//     model Sentiment extends TextClassifier { num_labels = 2 }

metamodel TextEmbedder {
    input: Text
    pretrained_model: str = "minilm-l6"   // a zoo name or a local Hugging Face directory
    pooling: str = "mean"                 // mean | cls | max
    max_length: int = 256                 // longer texts are truncated; batches pad to their longest
    TextEncoder(pretrained_model, pooling=pooling, max_length=max_length)
}

metamodel TextClassifier {
    input: Text
    output: Tensor[float32, B, num_labels]
    pretrained_model: str = "minilm-l6"
    num_labels: int = 2
    pooling: str = "mean"
    max_length: int = 128
    dropout: float = 0.1
    TextEncoder(pretrained_model, pooling=pooling, max_length=max_length)
    Dropout(dropout)
    Dense(num_labels)
}

// Extractive question answering: per-token start and end scores over (question, context) pairs;
// the answer is the best-scoring span of the context.
metamodel QuestionAnswerer {
    input: Text
    output: Tensor[float32, B, T, 2]
    pretrained_model: str = "minilm-l6"
    max_length: int = 256
    dropout: float = 0.1
    TextEncoder(pretrained_model, pooling="none", max_length=max_length)
    Dropout(dropout)
    Dense(2)
}
