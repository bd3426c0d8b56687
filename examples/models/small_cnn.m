// A layer stack whose shapes are inferred and checked before anything runs (`m check small_cnn.m`).
import python torch
model SmallCNN {
    input: Image[3, 64, 64]
    output: Tensor[float32, B, num_classes]
    num_classes: int = 10
    Conv2D(32, kernel=3, padding="same")
    BatchNorm()
    ReLU()
    MaxPool2D(2)
    Conv2D(64, kernel=3, padding="same")
    ReLU()
    GlobalAvgPool()
    Dropout(0.2)
    Dense(num_classes)
}

net = SmallCNN(num_classes=4)
net.summary()
images = torch.randn(8, 3, 64, 64)
print(net(images).shape)
