from nn import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
