// The google.rpc messages a gRPC error carries in its `grpc-status-details-bin`
// trailer (googleapis' google/rpc/status.proto and error_details.proto): only
// the four this agent writes, with their field numbers.
export const RPC_STATUS_PROTO = `
syntax = "proto3";
package google.rpc;
import "google/protobuf/any.proto";
import "google/protobuf/duration.proto";
message Status {
  int32 code = 1;
  string message = 2;
  repeated google.protobuf.Any details = 3;
}
message ErrorInfo {
  string reason = 1;
  string domain = 2;
  map<string, string> metadata = 3;
}
message BadRequest {
  message FieldViolation {
    string field = 1;
    string description = 2;
  }
  repeated FieldViolation field_violations = 1;
}
message RetryInfo {
  google.protobuf.Duration retry_delay = 1;
}
`;
