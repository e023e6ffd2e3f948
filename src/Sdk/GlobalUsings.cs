global using Grpc.Core;
global using Grpc.Net.Client;
global using TrainingService.Sdk.V1;
