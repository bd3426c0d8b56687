// M's standard text metamodels: a pretrained encoder from the model zoo (MiniLM by default), its
// tokenizer included, and a fresh head.  Extend one and bind what differs:
//     model Sentiment extends TextClassifier { num_labels = 2 }
// Whole documents: `chunking = "windows"` reads each text as up to `max_windows` windows of
// `max_length` tokens (consecutive windows share `stride` tokens), encodes every window and pools
// the window vectors (`window_pooling`: mean | max) into one.

metamodel TextEmbedder {
    input: Text
    pretrained_model: str = "minilm-l6"  // a zoo name or a local Hugging Face directory
    pooling: str = "mean"  // mean | cls | max
    max_length: int = 256  // longer texts are truncated; batches pad to their longest
    chunking: str = "none"  // none | windows
    stride: int = 0
    max_windows: int = 4
    window_pooling: str = "mean"  // mean | max
    TextEncoder(
        pretrained_model,
        pooling=pooling,
        max_length=max_length,
        chunking=chunking,
        stride=stride,
        max_windows=max_windows,
        window_pooling=window_pooling,
    )
}

metamodel TextClassifier {
    input: Text
    output: Tensor[float32, B, num_labels]
    pretrained_model: str = "minilm-l6"
    num_labels: int = 2
    pooling: str = "mean"
    max_length: int = 128
    chunking: str = "none"
    stride: int = 0
    max_windows: int = 4
    window_pooling: str = "mean"
    dropout: float = 0.1
    TextEncoder(
        pretrained_model,
        pooling=pooling,
        max_length=max_length,
        chunking=chunking,
        stride=stride,
        max_windows=max_windows,
        window_pooling=window_pooling,
    )
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
