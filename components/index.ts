export * from "./age-key-secret";
export * from "./argocd";
export * from "./flux";
export * from "./gitops-cluster";
export * from "./root-application";
export * from "./sealed-secrets";
