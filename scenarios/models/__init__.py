"""Real architectures nobody here wrote: keras-hub backbones at tiny sizes with harness weights, and
Keras's own example models that use masks. Nothing is downloaded."""
