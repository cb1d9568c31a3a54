/** A Deployment with findings of every usual kind (latest tag, no resources, no probes, no security context): what a review test sends. */
export const FLAWED_DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: web
          image: nginx:latest
`;
