# ============================================================================================
# loopgrad program corpus: yunjey_bidirectional_rnn
# (tests/programs/harness.py runs it; tests/programs/INVENTORY.md lists its torch API)
# Source:    https://github.com/yunjey/pytorch-tutorial
#            tutorials/02-intermediate/bidirectional_recurrent_neural_network/main.py
# Author:    Yunjey Choi
# Commit:    0500d3df5a2a8080ccfccbc00aca0eacc21818db (master, 2020-07-06)
# License:   MIT ("Copyright (c) 2017"): corpus/LICENSES/yunjey-pytorch-tutorial.txt
# Changed from the original, and nothing else (this header aside):
#   (a), (d) the lines  import torchvision  and  import torchvision.transforms as transforms  are
#       replaced by  import numpy as np  and a function synthetic_mnist(train) (11 lines) returning
#       a TensorDataset of the shapes, dtypes and value range that torchvision.datasets.MNIST with
#       transforms.ToTensor() gives (1500 training, 300 test images); the two
#       torchvision.datasets.MNIST(...) calls are replaced by synthetic_mnist(train=True) /
#       synthetic_mnist(train=False).
#   (b) hidden_size = 128 -> 32; the progress print every 100 steps -> every 5 steps
#       (if (i+1) % 100 == 0  ->  if (i+1) % 5 == 0), as the data has 15 steps an epoch.
#       The file is main.py, renamed.
# ============================================================================================
import torch 
import torch.nn as nn
import numpy as np


def synthetic_mnist(train):
    """MNIST's shapes without the download: a dataset of (1, 28, 28) float32 images in
    [0, 1], as transforms.ToTensor() gives, and int64 labels 0-9. Each digit is a fixed
    random pattern of pixels plus noise, so the classes can be learned."""
    templates = np.random.RandomState(0).rand(10, 28, 28) < 0.25
    rs = np.random.RandomState(1 if train else 2)
    n = 1500 if train else 300
    labels = rs.randint(0, 10, n).astype(np.int64)
    images = np.clip(templates[labels] + 0.5 * rs.randn(n, 28, 28), 0, 1)
    images = images.astype(np.float32)[:, None]
    return torch.utils.data.TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))


# Device configuration
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

# Hyper-parameters
sequence_length = 28
input_size = 28
hidden_size = 32
num_layers = 2
num_classes = 10
batch_size = 100
num_epochs = 2
learning_rate = 0.003

# MNIST dataset
train_dataset = synthetic_mnist(train=True)

test_dataset = synthetic_mnist(train=False)

# Data loader
train_loader = torch.utils.data.DataLoader(dataset=train_dataset,
                                           batch_size=batch_size, 
                                           shuffle=True)

test_loader = torch.utils.data.DataLoader(dataset=test_dataset,
                                          batch_size=batch_size, 
                                          shuffle=False)

# Bidirectional recurrent neural network (many-to-one)
class BiRNN(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers, num_classes):
        super(BiRNN, self).__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(hidden_size*2, num_classes)  # 2 for bidirection
    
    def forward(self, x):
        # Set initial states
        h0 = torch.zeros(self.num_layers*2, x.size(0), self.hidden_size).to(device) # 2 for bidirection 
        c0 = torch.zeros(self.num_layers*2, x.size(0), self.hidden_size).to(device)
        
        # Forward propagate LSTM
        out, _ = self.lstm(x, (h0, c0))  # out: tensor of shape (batch_size, seq_length, hidden_size*2)
        
        # Decode the hidden state of the last time step
        out = self.fc(out[:, -1, :])
        return out

model = BiRNN(input_size, hidden_size, num_layers, num_classes).to(device)


# Loss and optimizer
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    
# Train the model
total_step = len(train_loader)
for epoch in range(num_epochs):
    for i, (images, labels) in enumerate(train_loader):
        images = images.reshape(-1, sequence_length, input_size).to(device)
        labels = labels.to(device)
        
        # Forward pass
        outputs = model(images)
        loss = criterion(outputs, labels)
        
        # Backward and optimize
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        
        if (i+1) % 5 == 0:
            print ('Epoch [{}/{}], Step [{}/{}], Loss: {:.4f}' 
                   .format(epoch+1, num_epochs, i+1, total_step, loss.item()))

# Test the model
with torch.no_grad():
    correct = 0
    total = 0
    for images, labels in test_loader:
        images = images.reshape(-1, sequence_length, input_size).to(device)
        labels = labels.to(device)
        outputs = model(images)
        _, predicted = torch.max(outputs.data, 1)
        total += labels.size(0)
        correct += (predicted == labels).sum().item()

    print('Test Accuracy of the model on the 10000 test images: {} %'.format(100 * correct / total)) 

# Save the model checkpoint
torch.save(model.state_dict(), 'model.ckpt')