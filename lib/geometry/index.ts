/** DirectProbe and the geometry measures (Zhou & Srikumar 2021, 2022). */
export * from "./matrix";
export * from "./hull";
export * from "./corral";
export * from "./lp";
export * from "./agglomerate";
export * from "./overlap";
export * from "./directprobe";
export * from "./measures";
export * from "./centroids";
export * from "./pca";
export * from "./follow";
