use scopeflow::prelude::*;

model! {
    pub struct Dense(inputs, units) {
        kernel: [inputs, unit],
    }
}

fn main() {}
