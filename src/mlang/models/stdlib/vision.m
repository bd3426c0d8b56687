// M's standard image metamodel: a pretrained ImageNet backbone (EfficientNet-Lite0) with a fresh head.
//     model FaceOrNot extends ImageClassifier { num_labels = 2 }
// It resizes (shorter side 256, centre 224) and normalizes with ImageNet statistics itself; grey
// conversion and augmentation are data transforms (docs/data.md):
//     faces = Dataset.images("faces/", transform=[Grayscale(), Resize(224), RandomHorizontalFlip()])

metamodel ImageClassifier {
    input: Image[3, 224, 224]
    output: Tensor[float32, B, num_labels]
    pretrained_model: str = "efficientnet-lite0"  // or "dlib-face-resnet" (frozen face embeddings)
    num_labels: int = 2
    dropout: float = 0.2
    ImageEncoder(pretrained_model)
    Dropout(dropout)
    Dense(num_labels)
}
